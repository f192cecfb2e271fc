export { seededRandom } from '../../../src/sandbox/random.js';
