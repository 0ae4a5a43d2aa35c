// Project configuration of the example brokerage domain. Table settings live here, never in
// the code that reads data; schemas are discovered from the warehouse.
import { defineConfig } from '@almanac/platform';

export default defineConfig({
  epoch: '1',
  computationsDir: 'computations',
  dataDir: '.almanac',
  warehouse: { path: '.almanac/warehouse.duckdb' },
  tables: {
    users: { entityField: 'user_id', dateField: 'signup_date' },
    orders: { entityField: 'user_id', dateField: 'order_date' },
    prices: { entityField: 'symbol', dateField: 'price_date' },
    logins: { entityField: 'user_id', dateField: 'login_date' },
  },
  // per-entity computations run for every user who had signed up by the run's date
  entities: { table: 'users', idField: 'user_id', dateField: 'signup_date' },
  execution: { batchSize: 1000, entityConcurrency: 20, maxInFlight: 100 },
  settings: { currency: 'USD' },
  sample: {
    module: 'computations/sample-data/generate.ts',
    date: '2026-01-15',
    users: 1000,
    days: 14,
  },
});
