import { programs, providers } from '../../shared/domain/catalogues.js';
import { reasonCodeCatalogue } from '../../shared/domain/reason-codes.js';
import { apiHandler, json } from '../../shared/http/api-handler.js';

const programItems = programs.map(({ code, nameVi, nameEn, maxAmount, holdDays }) => ({ code, nameVi, nameEn, maxAmount, holdDays }));
const providerItems = providers.map(({ code, type, name }) => ({ code, type, name }));

const reasonCodeItems = reasonCodeCatalogue();

export const handler = apiHandler(async ({ route }) => {
  switch (route.operationId) {
    case 'listPrograms':
      return json(200, { items: programItems });
    case 'listReasonCodes':
      return json(200, { items: reasonCodeItems });
    default:
      return json(200, { items: providerItems });
  }
});
