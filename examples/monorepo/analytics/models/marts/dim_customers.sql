with orders as (
    select * from {{ ref('stg_orders') }}
)

select
    c.customer_id,
    c.email,
    c.country,
    min(o.ordered_at) as first_order_at,
    count(o.order_id) as order_count
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
group by 1, 2, 3
