import { exampleSuite } from './suite.js'

exampleSuite('openai-agents')
