/** Jest config of this project: the workspace preset (jest.preset.js). */
module.exports = require('../../jest.preset')(__dirname);
