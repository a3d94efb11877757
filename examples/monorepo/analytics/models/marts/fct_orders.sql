{{ config(materialized='table') }}

with payments as (
    select order_id, sum(amount) as amount
    from {{ ref('stg_payments') }}
    group by 1
)

select
    o.order_id,
    o.customer_id,
    o.status,
    o.ordered_at,
    coalesce(p.amount, 0) as amount
from {{ ref('stg_orders') }} as o
left join payments as p on p.order_id = o.order_id
