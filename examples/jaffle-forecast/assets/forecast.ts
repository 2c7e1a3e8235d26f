import { asset, job } from "tributary-assets";

interface Order {
  order_id: number;
  order_date: string;
  amount: number;
}

interface ForecastModel {
  /** First day of the training window (ISO date). */
  origin: string;
  /** Orders per day = intercept + slope * days since origin. */
  intercept: number;
  slope: number;
  trainedOn: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function dayNumber(date: string, origin: string): number {
  return Math.round((Date.parse(date) - Date.parse(origin)) / DAY_MS);
}

function isoDate(origin: string, days: number): string {
  return new Date(Date.parse(origin) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Least-squares line through the number of orders per day. */
function train(orders: Order[]): ForecastModel {
  const perDay = new Map<string, number>();
  for (const order of orders) {
    const day = String(order.order_date).slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  const days = [...perDay.keys()].sort();
  const origin = days[0];
  const xs = days.map((d) => dayNumber(d, origin));
  const ys = days.map((d) => perDay.get(d) ?? 0);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  let covariance = 0;
  let variance = 0;
  xs.forEach((x, i) => {
    covariance += (x - meanX) * (ys[i] - meanY);
    variance += (x - meanX) ** 2;
  });
  const slope = variance === 0 ? 0 : covariance / variance;
  return { origin, intercept: meanY - slope * meanX, slope, trainedOn: orders.length };
}

/** Predicted orders for every day of the training window and the two weeks after it. */
function predict(model: ForecastModel, orders: Order[]) {
  const last = Math.max(...orders.map((o) => dayNumber(String(o.order_date).slice(0, 10), model.origin)));
  const rows = [];
  for (let day = 0; day <= last + 14; day++) {
    const value = Math.max(0, model.intercept + model.slope * day);
    rows.push({ order_date: isoDate(model.origin, day), predicted_orders: Math.round(value * 100) / 100 });
  }
  return rows;
}

/** Daily order forecast, trained on dbt's fct_orders. */
export const orderForecastModel = asset(
  { key: "order_forecast_model", deps: ["fct_orders"], group: "forecasting" },
  async ({ fct_orders }: { fct_orders: Order[] }, ctx) => {
    ctx.log.info(`training on ${fct_orders.length} orders`);
    const model = train(fct_orders);
    ctx.metadata({ slope: model.slope, intercept: model.intercept });
    return model; // stored by the IO manager (JSON by default)
  },
);

/** One row per day: the orders the model predicts. Written to the table dbt reads as a source. */
export const predictedOrders = asset(
  {
    key: ["forecasting", "predicted_orders"],
    deps: [orderForecastModel, "fct_orders"],
    group: "forecasting",
    io: "table",
    columns: ["order_date", "predicted_orders"],
    checks: [
      { name: "has_predictions", fn: (rows: { predicted_orders: number }[]) => rows.length > 0 },
      {
        name: "predictions_not_negative",
        fn: (rows: { predicted_orders: number }[]) => {
          const negative = rows.filter((r) => r.predicted_orders < 0).length;
          return { passed: negative === 0, failures: negative };
        },
      },
    ],
  },
  async ({ order_forecast_model, fct_orders }: { order_forecast_model: ForecastModel; fct_orders: Order[] }) =>
    predict(order_forecast_model, fct_orders), // rows -> DuckDB table forecasting.predicted_orders
);

/** Retrain the forecast every day: Dagster's define_asset_job("forecast_job", selection="*order_forecast_model"). */
export const forecastJob = job({
  name: "forecast_job",
  selection: "*order_forecast_model",
  schedule: "@daily",
});
