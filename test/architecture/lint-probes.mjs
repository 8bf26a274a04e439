// Lints probe sources with the workspace's ESLint configuration, all in one ESLint instance (`npm run lint` loads the
// same config; one start instead of one per probe). Reads `[{ id, filePath, code }]` as JSON on stdin, writes
// `{ [id]: ["<module-boundaries message>", …] }` as JSON on stdout. Run with the workspace (or a scratch one) as cwd.
import { ESLint } from 'eslint';

const input = JSON.parse(
  await new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
  }),
);
const eslint = new ESLint({ cwd: process.cwd() });
const out = {};
for (const { id, filePath, code } of input) {
  const [result] = await eslint.lintText(code, { filePath });
  out[id] = result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}
process.stdout.write(JSON.stringify(out));
