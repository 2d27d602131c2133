// The check runner the API-client tests share: runs one named check, counts it when it passes,
// and marks the process failed (without stopping the other checks) when it throws.
export const checks = { passed: 0 };

export async function check(name, fn) {
  try {
    await fn();
    checks.passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    process.exitCode = 1;
  }
}
