import { barChart, lineChart } from './svg';

describe('governance plots (inline SVG)', () => {
  it('draws a bar per reviewer, names itself and carries the numbers as text', () => {
    const svg = barChart({
      id: 'p',
      title: 'Decisions per reviewer',
      desc: 'How many',
      bars: [
        { label: 'fiona', values: [3] },
        { label: '<x>', values: [1] },
      ],
    });
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(/<title id="[^"]+">Decisions per reviewer<\/title>/);
    expect(svg).toContain('<li>fiona: 3</li>');
    // Labels are escaped: a reviewer id cannot inject markup.
    expect(svg).not.toContain('<x>');
  });

  it('stacks series and draws lines over time', () => {
    const bars = barChart({ id: 'c', title: 'Canaries', desc: 'd', series: ['caught', 'missed'], bars: [{ label: 'bob', values: [2, 1] }] });
    expect(bars).toContain('<li>bob: caught 2, missed 1</li>');
    const line = lineChart({
      id: 'q',
      title: 'Queue',
      desc: 'd',
      series: [
        {
          name: 'high',
          points: [
            [0, 1],
            [60_000, 4],
          ],
        },
      ],
    });
    expect(line).toContain('<polyline points="64.0,129.0 464.0,12.0"');
    expect(line).toContain('high: 2 samples, latest 4, highest 4');
  });

  it('puts a share on a fixed 0–100 scale when asked, so 50 % sits half way up whatever the data', () => {
    const line = lineChart({
      id: 'a',
      title: 'Automation',
      desc: 'd',
      unit: ' %',
      max: 100,
      series: [
        {
          name: 'autonomous share',
          points: [
            [0, 50],
            [3600_000, 50],
          ],
        },
      ],
    });
    expect(line).toContain('<polyline points="64.0,90.0 464.0,90.0"');
    expect(line).toContain('>100 %</text>');
    expect(line).toContain('autonomous share: 2 samples, latest 50 %, highest 50 %');
  });
});
