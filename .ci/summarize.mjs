// Reads vitest's JSON report, prints "N passed, N failed, N skipped" as the closing line,
// lists skipped tests by name, and fails on CI when any test was skipped.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = [];
for (const file of report.testResults) {
  for (const test of file.assertionResults) {
    if (test.status === 'skipped' || test.status === 'pending' || test.status === 'todo') {
      skipped.push(`${file.name.replace(process.cwd() + '/', '')} > ${test.fullName}`);
    }
  }
}
if (skipped.length > 0) {
  console.log(`skipped tests (${skipped.length}):`);
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
  console.log('no test ran');
  exitCode = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped.length} skipped`);
process.exit(exitCode);
