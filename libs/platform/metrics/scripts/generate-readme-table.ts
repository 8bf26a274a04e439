// Rewrites the metrics table in the root README from the definitions (libs/platform/metrics/src/definitions.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { README_MARKERS, renderMetricsTable } from '../src';

const readme = join(__dirname, '../../../../README.md');
const text = readFileSync(readme, 'utf8');
const begin = text.indexOf(README_MARKERS.begin);
const end = text.indexOf(README_MARKERS.end);
if (begin < 0 || end < begin) throw new Error(`README.md has no ${README_MARKERS.begin} … ${README_MARKERS.end} section`);
writeFileSync(readme, `${text.slice(0, begin + README_MARKERS.begin.length)}\n${renderMetricsTable()}\n${text.slice(end)}`);
