#!/bin/bash
# usage: analyze.sh lambdas/x.ts  -> size + top packages
cd /work/main
node_modules/.bin/esbuild "$1" --bundle --minify --platform=node --format=esm --target=node22 --main-fields=module,main --outfile=.sz/out.mjs --metafile=.sz/meta.json --log-level=error --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
node -e "
const m=require('/work/main/.sz/meta.json'); const out=Object.values(m.outputs)[0]; const by={};
for (const [f,v] of Object.entries(out.inputs)) { const mm=f.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const k=mm?mm[1]:f.split('/').slice(0,3).join('/'); by[k]=(by[k]||0)+v.bytesInOutput; }
console.log('TOTAL', (out.bytes/1024).toFixed(0), 'KB');
Object.entries(by).sort((a,b)=>b[1]-a[1]).slice(0,${2:-14}).forEach(([k,v])=>console.log((v/1024).toFixed(0).padStart(5),k));"
