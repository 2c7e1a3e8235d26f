-- An order's amount is the sum of what was paid for it: a row here is an order whose
-- payment-method columns do not add up to its amount.
select order_id, amount
from {{ ref('fct_orders') }}
where abs(amount - (credit_card_amount + coupon_amount + bank_transfer_amount + gift_card_amount)) > 0.001
