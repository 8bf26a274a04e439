// `npm run countersign -- <area> <command> …`: one entry point for the operators' commands.
// Each area's commands live with the service that owns the data (apps/<service>/src/cli/), published as `<project>/cli`.
async function main(): Promise<number> {
  const [area, ...rest] = process.argv.slice(2);
  if (area === 'audit') return (await import('@countersign/audit-writer/cli')).runAuditCli(rest);
  if (area === 'policy') return (await import('@countersign/policy-engine/cli')).runPolicyCli(rest);
  if (area === 'drill') return (await import('./drill/drill')).runDrillCli(rest);
  if (area === 'scenarios') return (await import('./scenarios/scenarios')).runScenariosCli(rest);
  const usage =
    'usage: countersign audit <verify|prove|consistency|completeness|export> … | countersign policy <lint|test|explain|diff|replay> … | countersign drill <name> …\n' +
    '       countersign scenarios [file.jsonl] [--url URL] [--token-file FILE]: example traffic against a running instance\n' +
    '       countersign <area> --help: the commands of an area\n';
  // Asked for: the usage on stdout and success; anything else is bad usage.
  if (area === undefined || area === '--help' || area === '-h' || area === 'help') {
    (area === undefined ? process.stderr : process.stdout).write(usage);
    return area === undefined ? 2 : 0;
  }
  process.stderr.write(`countersign: no area ${JSON.stringify(area)}\n${usage}`);
  return 2;
}
void main().then((code) => process.exit(code));
