import { exampleSuite } from './suite.js'

exampleSuite('ai-sdk')
