import { connectionTypeFor } from '../../graphql/connection';
import { User } from './user.entity';

export const UserConnection = connectionTypeFor(User, 'User');
export type UserConnection = InstanceType<typeof UserConnection>;
