// `npm run countersign -- <area> <command> …`: one entry point for the operators' commands.
// Each area's commands live with the service that owns the data (apps/<service>/src/cli/), published as `<project>/cli`.
async function main(): Promise<number> {
  const [area, ...rest] = process.argv.slice(2);
  if (area === 'audit') return (await import('@countersign/audit-writer/cli')).runAuditCli(rest);
  if (area === 'policy') return (await import('@countersign/policy-engine/cli')).runPolicyCli(rest);
  if (area === 'drill') return (await import('./drill/drill')).runDrillCli(rest);
  process.stderr.write(
    'usage: countersign audit <verify|prove|consistency|completeness> … | countersign policy <lint|test|explain|diff|replay> … | countersign drill <name> …\n',
  );
  return 2;
}
void main().then((code) => process.exit(code));
