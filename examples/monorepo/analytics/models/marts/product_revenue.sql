select
    category,
    sum(line_amount) as revenue,
    sum(quantity) as units
from {{ ref('order_items_enriched') }}
group by 1
