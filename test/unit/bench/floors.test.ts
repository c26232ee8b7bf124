import { describe, expect, it } from 'vitest';
import { fitBatchCost, floorB, loop, singleCost } from '../../../bench/floors.js';
import { meanInFlight, withoutObserver, type DynamoFigures } from '../../../bench/pipeline-metrics.js';

describe('floor (b) arithmetic', () => {
  it('costs a single-item kind at the inverse of its rate', () => {
    expect(singleCost({ requests: 2_000, ms: 1_000 })).toEqual({ perRequestMs: 0.5, perItemMs: 0 });
    expect(singleCost({ requests: 0, ms: 1_000 })).toEqual({ perRequestMs: 0, perItemMs: 0 });
  });

  it('splits a batch kind into a per-request and a per-item time through its two loop sizes', () => {
    // 1 item: 2 ms a request; 25 items: 14 ms a request -> 0.5 ms an item, 1.5 ms a request.
    const cost = fitBatchCost({ requests: 100, items: 100, ms: 200 }, { requests: 100, items: 2_500, ms: 1_400 });
    expect(cost.perItemMs).toBeCloseTo(0.5, 10);
    expect(cost.perRequestMs).toBeCloseTo(1.5, 10);
  });

  it('keeps both parts at 0 or more when noise tilts the line', () => {
    // Larger requests measured faster than small ones: no per-item time, the mean per request.
    expect(fitBatchCost({ requests: 10, items: 10, ms: 30 }, { requests: 10, items: 250, ms: 20 })).toEqual({ perRequestMs: 2.5, perItemMs: 0 });
    // A line through the origin's far side: no per-request time, all per item.
    const steep = fitBatchCost({ requests: 10, items: 10, ms: 1 }, { requests: 10, items: 250, ms: 100 });
    expect(steep.perRequestMs).toBe(0);
    expect(steep.perItemMs).toBeCloseTo(10 / 25, 10);
    // One size only: the slower one, per request.
    expect(fitBatchCost({ requests: 10, items: 10, ms: 30 }, { requests: 10, items: 10, ms: 40 })).toEqual({ perRequestMs: 4, perItemMs: 0 });
  });

  it('sums requests x per-request + items x per-item over the kinds issued, and names those no loop measured', () => {
    const result = floorB(
      {
        kinds: { 'PutItem conditional': 1_000, BatchWriteItem: 40, Query: 10, TransactWriteItems: 3, GetItem: 0 },
        kindItems: { BatchWriteItem: 1_000, Query: 4_000 },
      },
      {
        'PutItem conditional': { perRequestMs: 2, perItemMs: 0 },
        BatchWriteItem: { perRequestMs: 1.5, perItemMs: 0.5 },
        Query: { perRequestMs: 1, perItemMs: 0.01 },
        GetItem: { perRequestMs: 1, perItemMs: 0 },
      },
    );
    expect(result.byKind).toEqual({
      'PutItem conditional': { requests: 1_000, items: 0, ms: 2_000 },
      BatchWriteItem: { requests: 40, items: 1_000, ms: 560 },
      Query: { requests: 10, items: 4_000, ms: 50 },
    });
    expect(result.ms).toBe(2_610);
    expect(result.unmeasured).toEqual({ TransactWriteItems: 3 });
  });
});

describe('loop', () => {
  it('runs every request once with at most `concurrency` in flight, and adds up the items of concurrent requests', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const rate = await loop(50, 4, 60_000, async (index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(index);
      inFlight--;
      return 3;
    });
    expect(rate.requests).toBe(50);
    expect(rate.items).toBe(150);
    expect(most).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('stops at its time limit', async () => {
    const rate = await loop(1_000_000, 2, 30, () => new Promise((resolve) => setTimeout(() => resolve(1), 5)));
    expect(rate.requests).toBeLessThan(1_000_000);
    expect(rate.requests).toBeGreaterThan(0);
  });
});

describe('pipeline metrics', () => {
  it('takes a window mean of requests in flight from two readings of the integral', () => {
    expect(meanInFlight({ area: 1_000, at: 100 }, { area: 5_000, at: 300 })).toBe(20);
    expect(meanInFlight({ area: 0, at: 100 }, { area: 0, at: 100 })).toBe(0);
  });

  it('leaves the status polls out of kinds and read capacity too', () => {
    const figures: DynamoFigures = {
      calls: { GetItem: 12, UpdateItem: 5 },
      total: 17,
      errors: {},
      byTable: { 't GetItem': 12, 't UpdateItem': 5 },
      itemsWritten: 5,
      itemsWrittenByTable: { t: 5 },
      kinds: { GetItem: 12, 'UpdateItem conditional': 5 },
      kindItems: {},
      capacity: { read: { t: 6 }, write: { t: 5 } },
      inFlight: { mean: 3, max: 9 },
    };
    const left = withoutObserver(figures, { calls: { GetItem: 2 }, byTable: { 't GetItem': 2 }, kinds: { GetItem: 2 }, kindItems: {}, readCapacity: { t: 0.5 } }, 5);
    expect(left.calls).toEqual({ UpdateItem: 5, GetItem: 2 });
    expect(left.kinds).toEqual({ 'UpdateItem conditional': 5, GetItem: 2 });
    expect(left.capacity).toEqual({ read: { t: 3.5 }, write: { t: 5 } });
    expect(left.total).toBe(7);
  });
});
