// `npm run images`: builds the TORONTO AI TEAM AGENT's images (images/build.mjs; cached by
// content, so an unchanged tree builds nothing) and loads any the real node's containerd lacks,
// when the real node is running. Prints IMAGES=<folder of the archives> last.
import { buildImages } from '../images/build.mjs';
import { loadImagesIfRunning, realNodePaths } from './real-node.mjs';

const log = (message) => process.stderr.write(`images: ${message}\n`);
try {
  const { dir, images } = buildImages(log);
  for (const { ref } of images) log(ref);
  if (!loadImagesIfRunning(realNodePaths(), dir, images, log)) log('the real node is not running: `npm run cluster -- up` loads them');
  console.log(`IMAGES=${dir}`);
} catch (error) {
  log(`error: ${String(error?.message ?? error).split('\n')[0]}`);
  process.exit(1);
}
