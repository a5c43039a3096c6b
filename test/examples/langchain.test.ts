import { exampleSuite } from './suite.js'

exampleSuite('langchain')
