/**
 * The showcase task the scripted demo model walks through: write a script, run it, fix it with a
 * patch, draw a chart, start a server and expose its port. Each step is one tool call, as a model
 * would make it, with the reasoning it would print before the call. The single definition of the
 * demo: `npm start` (examples/playground) serves it through ../playground/demo-model.ts when no
 * OPENAI_API_KEY is set.
 */
export interface ShowcaseStep {
  say: string
  tool: string
  input: Record<string, unknown>
}

export const showcaseTask =
  'Write a Python script that summarises sales per region, run it, fix any bug, chart the result, and serve the chart.'

export const showcaseSteps: ShowcaseStep[] = [
  {
    say: 'I will write the script first.',
    tool: 'write_file',
    input: {
      path: 'sales/summary.py',
      content: [
        'import csv, io',
        '',
        'DATA = """region,amount',
        'north,120',
        'south,80',
        'north,45',
        'east,200',
        'south,',
        '"""',
        '',
        'totals = {}',
        'for row in csv.DictReader(io.StringIO(DATA)):',
        "    totals[row['region']] = totals.get(row['region'], 0) + int(row['amount'])",
        '',
        'for region, total in sorted(totals.items()):',
        "    print(f'{region}: {total}')",
        '',
      ].join('\n'),
    },
  },
  { say: 'Now run it.', tool: 'shell', input: { command: 'cd sales && python3 summary.py' } },
  {
    say: 'It fails on the empty amount. I will patch it to skip rows without an amount.',
    tool: 'apply_patch',
    input: {
      patch: [
        '*** Begin Patch',
        '*** Update File: sales/summary.py',
        '@@',
        ' for row in csv.DictReader(io.StringIO(DATA)):',
        "-    totals[row['region']] = totals.get(row['region'], 0) + int(row['amount'])",
        "+    if not row['amount']:",
        '+        continue',
        "+    totals[row['region']] = totals.get(row['region'], 0) + int(row['amount'])",
        '*** End Patch',
      ].join('\n'),
    },
  },
  {
    say: 'Run it again (the shell is still in sales/).',
    tool: 'shell',
    input: { command: 'python3 summary.py' },
  },
  {
    say: 'Chart the totals.',
    tool: 'run_code',
    input: {
      code: [
        'import matplotlib',
        "matplotlib.use('Agg')",
        'import matplotlib.pyplot as plt',
        "totals = {'east': 200, 'north': 165, 'south': 80}",
        'fig, ax = plt.subplots(figsize=(5, 3))',
        "ax.bar(list(totals), list(totals.values()), color='#f38020')",
        "ax.set_title('Sales per region')",
        "fig.savefig('/workspace/sales/chart.png', dpi=80, bbox_inches='tight')",
        'plt.show()',
        'totals',
      ].join('\n'),
    },
  },
  {
    say: 'Serve the folder so the chart can be opened in a browser.',
    tool: 'start_process',
    input: {
      command: 'python3 -u -m http.server 8080 --bind 0.0.0.0 --directory /workspace/sales',
      name: 'web',
    },
  },
  { say: 'And get a URL for it.', tool: 'expose_port', input: { port: 8080 } },
]

export const showcaseSummary =
  'Done: sales/summary.py prints the totals per region (rows without an amount are skipped), the chart is in sales/chart.png, and the folder is served on port 8080.'
