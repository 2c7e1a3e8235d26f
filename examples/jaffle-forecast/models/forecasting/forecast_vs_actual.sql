{{ config(materialized='table') }}

with predicted as (
    select * from {{ source('forecasting', 'predicted_orders') }}
),

actual as (
    select order_date, count(*) as actual_orders
    from {{ ref('fct_orders') }}
    group by order_date
)

select
    predicted.order_date,
    predicted.predicted_orders,
    coalesce(actual.actual_orders, 0) as actual_orders,
    round(coalesce(actual.actual_orders, 0) - predicted.predicted_orders, 2) as error
from predicted
left join actual using (order_date)
order by predicted.order_date
