import { Module } from '@nestjs/common';

export const SERVICE_NAME = 'api';

/**
 * The api service's Nest module. An empty shell for now: the service's logic lives in
 * libs/ and runs inside the embedded profile; wiring it to Pub/Sub and Spanner is issue 3.
 */
@Module({ providers: [{ provide: 'SERVICE_NAME', useValue: SERVICE_NAME }] })
export class ApiModule {}
