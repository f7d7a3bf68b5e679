// Reads vitest's JSON report, prints "N passed, N failed, N skipped" as the closing line,
// lists skipped tests by name, and fails on CI when any test was skipped.
// Usage: node .ci/summarize.mjs <report.json> [label]; the label (e.g. "e2e") prefixes the
// closing line so that a CI log with several runs says which one it sums up.
import { readFileSync } from 'node:fs';

const [file, label] = process.argv.slice(2);
const prefix = label ? `${label}: ` : '';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`${prefix}no readable test report at ${file}: ${error.message}`);
  process.exit(1);
}
const skipped = [];
for (const result of report.testResults) {
  for (const test of result.assertionResults) {
    if (test.status === 'skipped' || test.status === 'pending' || test.status === 'todo') {
      skipped.push(`${result.name.replace(process.cwd() + '/', '')} > ${test.fullName}`);
    }
  }
}
if (skipped.length > 0) {
  console.log(`${prefix}skipped tests (${skipped.length}):`);
  for (const name of skipped) console.log(`  - ${name}`);
}
const failed = report.numFailedTests;
const passed = report.numPassedTests;
let exitCode = failed > 0 || !report.success ? 1 : 0;
if (process.env.CI === 'true' && skipped.length > 0) {
  console.log('CI=true: a skipped test is a failure here, where Redis and PostgreSQL are available.');
  exitCode = 1;
}
if (passed === 0) {
  console.log(`${prefix}no test ran`);
  exitCode = 1;
}
console.log(`${prefix}${passed} passed, ${failed} failed, ${skipped.length} skipped`);
process.exit(exitCode);
