/** An image reference split into repository name, tag and digest. */
export interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry:port/repo/name:tag@sha256:...`; a colon before the last `/` is a port. */
export function parseImage(image: string): ImageRef {
  const [withTag, digest] = image.split('@', 2) as [string, string | undefined];
  const colon = withTag.lastIndexOf(':');
  const hasTag = colon > withTag.lastIndexOf('/');
  return {
    name: hasTag ? withTag.slice(0, colon) : withTag,
    tag: hasTag ? withTag.slice(colon + 1) : undefined,
    digest,
  };
}

/**
 * Whether an image is pinned: a digest, or a tag other than `latest`. An unpinned image changes
 * under a deployment that did not change (our policy for manifests, compose and Dockerfiles).
 */
export function isPinned(image: string): boolean {
  const ref = parseImage(image);
  return ref.digest !== undefined || (ref.tag !== undefined && ref.tag !== '' && ref.tag !== 'latest');
}
