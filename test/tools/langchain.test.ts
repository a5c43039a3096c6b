import { langchainInvoker } from '../reliability/invokers.js'
import { describeToolSuite } from './suite.js'

// Every tool called as LangChain's ToolNode calls it: `tool.invoke({ type: 'tool_call', id, name, args })`
// → a ToolMessage (text, image blocks, `status: 'error'` for failures).
describeToolSuite('the LangChain adapter (tool.invoke with a tool call)', (session) =>
  langchainInvoker(session),
)
