import { listQuerySchema } from '../../shared/domain/schemas.js';
import { ownPaymentView } from '../../shared/app/beneficiary.js';
import { apiHandler, json, requirePrincipal } from '../../shared/http/api-handler.js';
import { parseQuery, pathParameter } from '../../shared/http/query.js';
import { createBeneficiaryContext } from '../../shared/wiring/beneficiary.js';

const { beneficiary, accounts } = await createBeneficiaryContext();

/** A beneficiary's own payments and account (by the token's pid). */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  switch (route.operationId) {
    case 'listMyPayments': {
      const page = await beneficiary.listOwnPayments(principal, parseQuery(listQuerySchema, event));
      return json(200, { items: page.items.map((payment) => ownPaymentView(payment, false)), nextCursor: page.nextCursor });
    }
    case 'getMyPayment':
      return json(200, ownPaymentView(await beneficiary.ownPayment(principal, pathParameter(event, 'paymentId')), true));
    case 'getMyAccount':
      return json(200, await accounts.readOwn(principal));
    default:
      throw new Error(`me does not serve ${route.operationId}`);
  }
});
