import { connectionTypeFor } from '../../graphql/connection';
import { Post } from './post.entity';

export const PostConnection = connectionTypeFor(Post, 'Post');
export type PostConnection = InstanceType<typeof PostConnection>;
