select
    customer_id,
    sum(amount) as lifetime_value,
    count(*) as orders
from {{ ref('fct_orders') }}
where status <> 'returned'
group by 1
