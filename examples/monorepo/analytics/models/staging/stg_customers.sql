select
    id as customer_id,
    lower(email) as email,
    country,
    cast(created_at as timestamp) as created_at
from {{ source('shop', 'customers') }}
