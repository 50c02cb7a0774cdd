import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printAppSchema } from '../schema';

/** `npm run schema`: regenerates the committed schema.graphql from the code. */
async function writeSchema(): Promise<void> {
  const target = path.resolve(__dirname, '..', '..', 'schema.graphql');
  writeFileSync(target, printAppSchema(await buildAppSchema()));
  console.log(`wrote ${path.relative(process.cwd(), target) || target}`);
}

writeSchema().catch((error) => {
  console.error(error);
  process.exit(1);
});
