/** The builders Floorplan ships, one file each; the registry is built from this list at start. */
import type { FloorBuilder } from '../builder.ts';
import { coupon } from './coupon.ts';
import { lj } from './lj.ts';
import { loyaltyPoints } from './loyalty-points.ts';
import { mj } from './mj.ts';
import { notice } from './notice.ts';
import { payable } from './payable.ts';
import { plusRebate } from './plus-rebate.ts';
import { plus95 } from './plus95.ts';
import { shipping } from './shipping.ts';
import { spze } from './spze.ts';
import { spzeCart } from './spze-cart.ts';

export const defaultBuilders: readonly FloorBuilder[] = [spze, spzeCart, lj, mj, coupon, plus95, shipping, plusRebate, payable, notice, loyaltyPoints];
