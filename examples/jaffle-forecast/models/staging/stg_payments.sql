with source as (
    select * from {{ ref('raw_payments') }}
)

select
    id as payment_id,
    order_id,
    payment_method,
    -- amounts are stored in cents
    {{ cents_to_dollars('amount') }} as amount
from source
