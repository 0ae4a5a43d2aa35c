// Jest transform for JavaScript computations (.js, .mjs, .cjs outside node_modules): ES module
// syntax becomes CommonJS with esbuild, as tsx does when bin/almanac requires them (ADR 0003).
// CommonJS files pass through unchanged.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const out = transformSync(source, {
      loader: 'js',
      format: 'cjs',
      target: 'node20',
      sourcefile: filename,
      sourcemap: 'inline',
    });
    return { code: out.code };
  },
};
