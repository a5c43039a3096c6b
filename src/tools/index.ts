import { runCode } from './code.js'
import { applyPatch, editFile, listFiles, readFile, writeFile } from './files.js'
import { exposePort, processOutput, startProcess, stopProcess } from './processes.js'
import { shell } from './shell.js'
import type { SandboxToolsOptions, ToolName, ToolSpec } from './types.js'

export { formatExecution, runCode } from './code.js'
export { approvalFor, defineTool, needsApproval, parseToolInput, runTool, toolErrorText } from './define.js'
export {
  applyPatch,
  applyPatchText,
  editFile,
  globToRegExp,
  listFiles,
  readFile,
  readTextFile,
  writeFile,
} from './files.js'
export { exposePort, processOutput, startProcess, stopProcess } from './processes.js'
export { fitStreams, formatCommandResult, joinStreams, shell } from './shell.js'
export type * from './types.js'

/** Every tool, in the order they are offered to a model. */
export const allTools: readonly ToolSpec[] = [
  shell,
  readFile,
  writeFile,
  editFile,
  applyPatch,
  listFiles,
  runCode,
  startProcess,
  processOutput,
  stopProcess,
  exposePort,
]

export const toolNames: readonly ToolName[] = allTools.map((t) => t.name as ToolName)

/** The tools `include`/`exclude` select, with a clear error for unknown names (in `approval` too). */
export function selectTools(
  options: Pick<SandboxToolsOptions, 'include' | 'exclude' | 'approval'> = {},
): ToolSpec[] {
  const { approval } = options
  if (
    approval !== undefined &&
    typeof approval !== 'boolean' &&
    typeof approval !== 'function' &&
    !Array.isArray(approval)
  ) {
    throw new TypeError('sandboxTools: `approval` must be true, false, a list of tool names or a function')
  }
  const listed = Array.isArray(approval) ? approval : []
  for (const name of [...(options.include ?? []), ...(options.exclude ?? []), ...listed]) {
    if (!toolNames.includes(name)) {
      throw new TypeError(
        `sandboxTools: unknown tool name ${JSON.stringify(name)}; known tools: ${toolNames.join(', ')}`,
      )
    }
  }
  return allTools.filter(
    (t) =>
      (!options.include || options.include.includes(t.name as ToolName)) &&
      !options.exclude?.includes(t.name as ToolName),
  )
}
