select
    i.order_item_id,
    i.order_id,
    p.product_id,
    p.category,
    i.quantity,
    i.quantity * p.price as line_amount
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_products') }} as p on p.product_id = i.product_id
