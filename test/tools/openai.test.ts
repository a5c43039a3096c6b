import { openaiInvoker } from '../reliability/invokers.js'
import { describeToolSuite } from './suite.js'

// Every tool as the SDK's function tool (`nativeTools: false`), called the way the runner calls it:
// `FunctionTool.invoke(runContext, argumentsJson, details)`. The native shellTool/applyPatchTool
// (`SandboxShell`/`SandboxEditor`) are proven in test/adapters/openai.test.ts and test/reliability.
describeToolSuite('the OpenAI Agents SDK adapter (FunctionTool.invoke)', (session) => openaiInvoker(session))
