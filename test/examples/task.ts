/**
 * The multi-step task every example Worker is tested with, as the scripted model
 * (test/fixtures/openai-fixture.ts) plays it: write a script, try a file outside the workspace (a
 * tool error), run the script (it fails), fix it with a patch, run it again (in the directory the
 * first run cd'ed into), chart the result. Plain data: imported by
 * the global setup (Node) and by the tests (workerd).
 */
import type { ScriptedToolResult, ScriptedToolStep } from '../fixtures/openai-fixture.js'

export const TASK =
  'Write app/fizzbuzz.py for 1..15, run it, fix what fails, then chart how often each word appears.'

export const MODEL = 'gpt-test-model'
export const API_KEY = 'sk-test-examples'

const BUGGY = [
  'def fizzbuzz(n):',
  '    if n % 15 == 0:',
  "        return 'FizzBuzz'",
  '    if n % 3 == 0:',
  "        return 'Fizz'",
  '    if n % 5 == 0:',
  "        return 'Buzz'",
  '    return str(n)',
  '',
  'for i in range(1, 16):',
  '    print(fizz_buzz(i))',
  '',
].join('\n')

/** The step whose call fails (with the reason) instead of returning a result. */
export const REFUSED_STEP = 1

export const FIXED_OUTPUT = '1\n2\nFizz\n4\nBuzz\nFizz\n7\n8\nFizz\nBuzz\n11\nFizz\n13\n14\nFizzBuzz\n'

export const STEPS: ScriptedToolStep[] = [
  {
    say: 'I will write the script first.',
    tool: 'write_file',
    input: { path: 'app/fizzbuzz.py', content: BUGGY },
    expect: /Created app\/fizzbuzz\.py/,
  },
  {
    say: 'First a look at the system users.',
    tool: 'read_file',
    input: { path: '/etc/passwd' },
    // refused: a tool error the model gets with its reason, and the run goes on
    expect: /read_file failed: .*outside the workspace/,
  },
  {
    say: 'Now run it.',
    tool: 'shell',
    input: { command: 'cd app && python3 fizzbuzz.py' },
    expect: /NameError: name 'fizz_buzz' is not defined[\s\S]*exit code: 1/,
  },
  {
    say: 'The call uses the wrong name; patching it.',
    tool: 'apply_patch',
    input: {
      patch: [
        '*** Begin Patch',
        '*** Update File: app/fizzbuzz.py',
        '@@',
        ' for i in range(1, 16):',
        '-    print(fizz_buzz(i))',
        '+    print(fizzbuzz(i))',
        '*** End Patch',
      ].join('\n'),
    },
    expect: /app\/fizzbuzz\.py/,
  },
  {
    say: 'Run it again; the shell is still in app/.',
    tool: 'shell',
    input: { command: 'python3 fizzbuzz.py > out.txt && tail -n 1 out.txt' },
    expect: /^FizzBuzz\n[\s\S]*exit code: 0/,
  },
  {
    say: 'Chart the words.',
    tool: 'run_code',
    input: {
      language: 'python',
      code: [
        'import collections',
        'import matplotlib',
        "matplotlib.use('Agg')",
        'import matplotlib.pyplot as plt',
        "words = [w for w in open('/workspace/app/out.txt').read().split() if not w.isdigit()]",
        'counts = collections.Counter(words)',
        'fig, ax = plt.subplots(figsize=(4, 3))',
        'ax.bar(list(counts), list(counts.values()))',
        "fig.savefig('/workspace/app/chart.png', dpi=60)",
        'plt.show()',
        'dict(sorted(counts.items()))',
      ].join('\n'),
    },
    expect: /'Buzz': 2, 'Fizz': 4, 'FizzBuzz': 1/,
  },
]

/** The answer quotes what the model was shown, so a test can see the results reached it. */
export function answer(results: ScriptedToolResult[]): string {
  const images = results.reduce((n, r) => n + r.images, 0)
  return `Fixed: app/fizzbuzz.py called fizz_buzz; it now prints 1..15 ending in FizzBuzz. The chart came back as ${images} image(s).`
}

export const ANSWER = answer([{ tool: 'run_code', text: '', images: 1 }])

/** A task the scripted model refuses (HTTP 400 with REFUSAL), for the error path. */
export const FAILING_TASK = 'Please fail: this task is refused by the model.'
export const REFUSAL = 'scripted refusal for the error path'

export function refuse(body: any): string | undefined {
  return JSON.stringify(body?.input ?? '').includes(FAILING_TASK) ? REFUSAL : undefined
}
