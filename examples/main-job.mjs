// @ts-check
/**
 * `npm start`: the whole system on a fresh clone. Starts the example model (SageMaker container
 * contract, on an ephemeral port), then runs `osml-extensions run` on the sample GeoTIFF through
 * the repo's plugins and config: boot (each plugin logged), select the pair, tile, invoke, geolocate,
 * de-duplicate, write out/sample.geojson, print the summary. Exit status is the run's.
 */
import { startModelServer } from './model-server/server.mjs';
import { main } from '../dist/cli/main.js';

const model = await startModelServer({ mode: 'blobs' });
try {
  process.exitCode = await main([
    'run',
    'examples/sample/sample.tif',
    '--endpoint',
    model.invocationsUrl,
    '--out',
    'out/sample.geojson',
    ...process.argv.slice(2),
  ]);
} finally {
  await model.close();
}
