// How long the last 50 operations of each environment took: one inline SVG bar chart each,
// newest on the right, failures in another colour (and said in each bar's title).
import { api, call, type Operation } from '../api.js';
import { duration, operationMs } from '../format.js';
import { Failure, Loading, useLoad } from '../load.js';

const WIDTH = 600;
const HEIGHT = 120;

function Chart({ env, operations }: { env: string; operations: Operation[] }) {
  const runs = operations.filter((op) => operationMs(op) !== undefined).slice(0, 50).reverse();
  if (!runs.length) return <p class="muted">No finished operation yet.</p>;
  const longest = Math.max(...runs.map((op) => operationMs(op)!), 1);
  const step = WIDTH / 50;
  return (
    <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT + 16}`} role="img" aria-labelledby={`chart-${env}`}>
      <title id={`chart-${env}`}>Durations of the last {runs.length} operations of {env}; the longest took {duration(longest)}</title>
      {runs.map((op, i) => {
        const h = Math.max(2, (operationMs(op)! / longest) * HEIGHT);
        return (
          <rect key={op.id} x={i * step + 1} y={HEIGHT - h} width={step - 2} height={h} class={op.status === 'succeeded' ? 'bar ok' : 'bar bad'}>
            <title>{op.type} {op.status}: {duration(operationMs(op))}</title>
          </rect>
        );
      })}
      <text x="0" y={HEIGHT + 13} class="axis">older</text>
      <text x={WIDTH} y={HEIGHT + 13} class="axis" text-anchor="end">newest · longest {duration(longest)}</text>
    </svg>
  );
}

export function Durations() {
  const { data, error } = useLoad(async (signal) => {
    const envs = await call(api.GET('/v1/environments', { signal }));
    return Promise.all(envs.items.map(async (env) => {
      const page = await call(api.GET('/v1/environments/{env}/operations', { params: { path: { env: env.name }, query: { limit: 50 } }, signal }));
      return { env: env.name, operations: page.items };
    }));
  }, []);
  return (
    <section aria-labelledby="durations-title">
      <h1 id="durations-title">Operation durations</h1>
      <Failure message={error} />
      {!data ? <Loading what="operations" /> : data.map(({ env, operations }) => (
        <figure key={env}>
          <figcaption><a href={`#/environments/${env}`}>{env}</a></figcaption>
          <Chart env={env} operations={operations} />
        </figure>
      ))}
    </section>
  );
}
