import { connectionTypeFor } from '../../trash/pagination';
import { User } from './user.entity';

export const UserConnection = connectionTypeFor(User, 'User');
export type UserConnection = InstanceType<typeof UserConnection>;
