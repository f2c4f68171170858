// Entry of a bench:scale child process (roles.ts): `role-main.ts dispatcher|pullers`.
import { serveRole, type Role } from './roles.ts';

const role = process.argv[2];
if (role !== 'dispatcher' && role !== 'pullers') throw new Error(`unknown bench:scale role '${role}'`);
serveRole(role as Role);
