// The embedded stack's inbox: the emails local SES accepted, read from its store, and what a user does
// with one (open it, follow the download link through the endpoint to the presigned archive URL).

export interface ReceivedEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  at: number;
}

/** The download link in an email's text body. */
export function linkInEmail(email: ReceivedEmail): string | undefined {
  return /https?:\/\/\S+\/download\?token=[A-Za-z0-9._-]+/.exec(email.body.text ?? '')?.[0];
}

export class LocalInbox {
  constructor(private readonly sesEndpoint: string) {}

  /** Emails local SES accepted, oldest first. */
  async emails(): Promise<ReceivedEmail[]> {
    const response = await fetch(`${this.sesEndpoint}/store`);
    const store = (await response.json()) as { emails: ReceivedEmail[] };
    return store.emails;
  }

  /** The newest email to `address` about `exportId`, if one arrived. */
  async emailFor(address: string, exportId: string): Promise<ReceivedEmail | undefined> {
    const all = await this.emails();
    return all.filter((e) => e.destination.to.includes(address) && (e.body.text ?? '').includes(exportId)).at(-1);
  }

  /**
   * What the user does: open the newest email about the export, follow its link through the download
   * endpoint, and fetch the presigned URL it redirects to.
   */
  async downloadFromEmail(address: string, exportId: string): Promise<{ email: ReceivedEmail; link: string; location: string; zip: Buffer }> {
    const email = await this.emailFor(address, exportId);
    const link = email && linkInEmail(email);
    if (!email || !link) throw new Error(`No email with a download link for export ${exportId} reached ${address} in local SES.`);
    const redirect = await fetch(link, { redirect: 'manual' });
    const location = redirect.headers.get('location');
    if (redirect.status !== 302 || !location) throw new Error(`The download link answered ${redirect.status} instead of a redirect: ${await redirect.text()}`);
    const download = await fetch(location);
    if (!download.ok) throw new Error(`The presigned archive URL answered ${download.status}.`);
    return { email, link, location, zip: Buffer.from(await download.arrayBuffer()) };
  }
}
