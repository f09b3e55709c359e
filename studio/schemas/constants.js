// Option lists shared by the schemas.
export const REGIONS = [
  {title: 'EU', value: 'eu'},
  {title: 'US', value: 'us'},
  {title: 'APAC', value: 'apac'},
]

export const GATED_CONTENT_TYPES = [
  {title: 'Article', value: 'article'},
  {title: 'Doc', value: 'doc'},
  {title: 'Report', value: 'report'},
]
