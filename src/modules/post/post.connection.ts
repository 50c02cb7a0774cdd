import { connectionTypeFor } from '../../trash/pagination';
import { Post } from './post.entity';

export const PostConnection = connectionTypeFor(Post, 'Post');
export type PostConnection = InstanceType<typeof PostConnection>;
