// The desk (structure tool) layout: one group per job an editor does, each document type once.
// GROUPS is plain data so test/studio.test.js can check it against the schema types without a browser.

export const GROUPS = [
  {id: 'gated-content', title: 'Gated content', types: ['article', 'doc', 'report', 'gatedPage']},
  {id: 'stytch-access', title: 'Access (Stytch)', types: ['accessRule', 'plan']},
  {id: 'descope-access', title: 'Access (Descope)', types: ['memberProfile', 'organizationProfile', 'accessRole', 'accessPlan']},
]

/** structureTool({structure}): a list per group, each listing its document types. */
export const structure = (S) =>
  S.list()
    .title('gatehouse')
    .items(
      GROUPS.map((group) =>
        S.listItem()
          .id(group.id)
          .title(group.title)
          .child(
            S.list()
              .id(group.id)
              .title(group.title)
              .items(group.types.map((type) => S.documentTypeListItem(type))),
          ),
      ),
    )
