import { programs, providers } from '../../shared/domain/catalogues.js';
import { apiHandler, json } from '../../shared/http/api-handler.js';

const programItems = programs.map(({ code, nameVi, nameEn, maxAmount }) => ({ code, nameVi, nameEn, maxAmount }));
const providerItems = providers.map(({ code, type, name }) => ({ code, type, name }));

export const handler = apiHandler(async ({ route }) =>
  route.operationId === 'listPrograms' ? json(200, { items: programItems }) : json(200, { items: providerItems }),
);
