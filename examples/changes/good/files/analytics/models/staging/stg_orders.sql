select
    id as order_id,
    customer_id,
    status,
    channel,
    cast(ordered_at as timestamp) as ordered_at
from {{ source('shop', 'orders') }}
