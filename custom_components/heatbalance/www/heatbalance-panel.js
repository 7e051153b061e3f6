var zt=Object.defineProperty;var Dt=(o,t,e)=>t in o?zt(o,t,{enumerable:!0,configurable:!0,writable:!0,value:e}):o[t]=e;var Z=(o,t,e)=>Dt(o,typeof t!="symbol"?t+"":t,e);var j=globalThis,q=j.ShadowRoot&&(j.ShadyCSS===void 0||j.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,G=Symbol(),_t=new WeakMap,H=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==G)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(q&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=_t.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&_t.set(e,t))}return t}toString(){return this.cssText}},mt=o=>new H(typeof o=="string"?o:o+"",void 0,G),X=(o,...t)=>{let e=o.length===1?o[0]:t.reduce((s,i,a)=>s+(n=>{if(n._$cssResult$===!0)return n.cssText;if(typeof n=="number")return n;throw Error("Value passed to 'css' function must be a 'css' function result: "+n+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+o[a+1],o[0]);return new H(e,o,G)},ft=(o,t)=>{if(q)o.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),i=j.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=e.cssText,o.appendChild(s)}},Y=q?o=>o:o=>o instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return mt(e)})(o):o;var{is:Wt,defineProperty:Ft,getOwnPropertyDescriptor:Bt,getOwnPropertyNames:It,getOwnPropertySymbols:Vt,getPrototypeOf:jt}=Object,K=globalThis,gt=K.trustedTypes,qt=gt?gt.emptyScript:"",Kt=K.reactiveElementPolyfillSupport,T=(o,t)=>o,tt={toAttribute(o,t){switch(t){case Boolean:o=o?qt:null;break;case Object:case Array:o=o==null?o:JSON.stringify(o)}return o},fromAttribute(o,t){let e=o;switch(t){case Boolean:e=o!==null;break;case Number:e=o===null?null:Number(o);break;case Object:case Array:try{e=JSON.parse(o)}catch{e=null}}return e}},vt=(o,t)=>!Wt(o,t),$t={attribute:!0,type:String,converter:tt,reflect:!1,useDefault:!1,hasChanged:vt};Symbol.metadata??=Symbol("metadata"),K.litPropertyMetadata??=new WeakMap;var b=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=$t){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(t,s,e);i!==void 0&&Ft(this.prototype,t,i)}}static getPropertyDescriptor(t,e,s){let{get:i,set:a}=Bt(this.prototype,t)??{get(){return this[e]},set(n){this[e]=n}};return{get:i,set(n){let u=i?.call(this);a?.call(this,n),this.requestUpdate(t,u,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??$t}static _$Ei(){if(this.hasOwnProperty(T("elementProperties")))return;let t=jt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(T("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(T("properties"))){let e=this.properties,s=[...It(e),...Vt(e)];for(let i of s)this.createProperty(i,e[i])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,i]of e)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let i=this._$Eu(e,s);i!==void 0&&this._$Eh.set(i,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let i of s)e.unshift(Y(i))}else t!==void 0&&e.push(Y(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return ft(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),i=this.constructor._$Eu(t,s);if(i!==void 0&&s.reflect===!0){let a=(s.converter?.toAttribute!==void 0?s.converter:tt).toAttribute(e,s.type);this._$Em=t,a==null?this.removeAttribute(i):this.setAttribute(i,a),this._$Em=null}}_$AK(t,e){let s=this.constructor,i=s._$Eh.get(t);if(i!==void 0&&this._$Em!==i){let a=s.getPropertyOptions(i),n=typeof a.converter=="function"?{fromAttribute:a.converter}:a.converter?.fromAttribute!==void 0?a.converter:tt;this._$Em=i;let u=n.fromAttribute(e,a.type);this[i]=u??this._$Ej?.get(i)??u,this._$Em=null}}requestUpdate(t,e,s,i=!1,a){if(t!==void 0){let n=this.constructor;if(i===!1&&(a=this[t]),s??=n.getPropertyOptions(t),!((s.hasChanged??vt)(a,e)||s.useDefault&&s.reflect&&a===this._$Ej?.get(t)&&!this.hasAttribute(n._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:i,wrapped:a},n){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,n??e??this[t]),a!==!0||n!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),i===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,a]of this._$Ep)this[i]=a;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,a]of s){let{wrapped:n}=a,u=this[i];n!==!0||this._$AL.has(i)||u===void 0||this.C(i,void 0,a,u)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};b.elementStyles=[],b.shadowRootOptions={mode:"open"},b[T("elementProperties")]=new Map,b[T("finalized")]=new Map,Kt?.({ReactiveElement:b}),(K.reactiveElementVersions??=[]).push("2.1.2");var rt=globalThis,yt=o=>o,Q=rt.trustedTypes,bt=Q?Q.createPolicy("lit-html",{createHTML:o=>o}):void 0,Et="$lit$",x=`lit$${Math.random().toFixed(9).slice(2)}$`,Ct="?"+x,Qt=`<${Ct}>`,E=document,z=()=>E.createComment(""),D=o=>o===null||typeof o!="object"&&typeof o!="function",lt=Array.isArray,Jt=o=>lt(o)||typeof o?.[Symbol.iterator]=="function",et=`[ 	
\f\r]`,L=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,xt=/-->/g,wt=/>/g,k=RegExp(`>|${et}(?:([^\\s"'>=/]+)(${et}*=${et}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),At=/'/g,kt=/"/g,Mt=/^(?:script|style|textarea|title)$/i,ct=o=>(t,...e)=>({_$litType$:o,strings:t,values:e}),m=ct(1),y=ct(2),re=ct(3),C=Symbol.for("lit-noChange"),f=Symbol.for("lit-nothing"),St=new WeakMap,S=E.createTreeWalker(E,129);function Pt(o,t){if(!lt(o)||!o.hasOwnProperty("raw"))throw Error("invalid template strings array");return bt!==void 0?bt.createHTML(t):t}var Zt=(o,t)=>{let e=o.length-1,s=[],i,a=t===2?"<svg>":t===3?"<math>":"",n=L;for(let u=0;u<e;u++){let r=o[u],_,l,c=-1,p=0;for(;p<r.length&&(n.lastIndex=p,l=n.exec(r),l!==null);)p=n.lastIndex,n===L?l[1]==="!--"?n=xt:l[1]!==void 0?n=wt:l[2]!==void 0?(Mt.test(l[2])&&(i=RegExp("</"+l[2],"g")),n=k):l[3]!==void 0&&(n=k):n===k?l[0]===">"?(n=i??L,c=-1):l[1]===void 0?c=-2:(c=n.lastIndex-l[2].length,_=l[1],n=l[3]===void 0?k:l[3]==='"'?kt:At):n===kt||n===At?n=k:n===xt||n===wt?n=L:(n=k,i=void 0);let d=n===k&&o[u+1].startsWith("/>")?" ":"";a+=n===L?r+Qt:c>=0?(s.push(_),r.slice(0,c)+Et+r.slice(c)+x+d):r+x+(c===-2?u:d)}return[Pt(o,a+(o[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},W=class o{constructor({strings:t,_$litType$:e},s){let i;this.parts=[];let a=0,n=0,u=t.length-1,r=this.parts,[_,l]=Zt(t,e);if(this.el=o.createElement(_,s),S.currentNode=this.el.content,e===2||e===3){let c=this.el.content.firstChild;c.replaceWith(...c.childNodes)}for(;(i=S.nextNode())!==null&&r.length<u;){if(i.nodeType===1){if(i.hasAttributes())for(let c of i.getAttributeNames())if(c.endsWith(Et)){let p=l[n++],d=i.getAttribute(c).split(x),h=/([.?@])?(.*)/.exec(p);r.push({type:1,index:a,name:h[2],strings:d,ctor:h[1]==="."?it:h[1]==="?"?ot:h[1]==="@"?at:U}),i.removeAttribute(c)}else c.startsWith(x)&&(r.push({type:6,index:a}),i.removeAttribute(c));if(Mt.test(i.tagName)){let c=i.textContent.split(x),p=c.length-1;if(p>0){i.textContent=Q?Q.emptyScript:"";for(let d=0;d<p;d++)i.append(c[d],z()),S.nextNode(),r.push({type:2,index:++a});i.append(c[p],z())}}}else if(i.nodeType===8)if(i.data===Ct)r.push({type:2,index:a});else{let c=-1;for(;(c=i.data.indexOf(x,c+1))!==-1;)r.push({type:7,index:a}),c+=x.length-1}a++}}static createElement(t,e){let s=E.createElement("template");return s.innerHTML=t,s}};function O(o,t,e=o,s){if(t===C)return t;let i=s!==void 0?e._$Co?.[s]:e._$Cl,a=D(t)?void 0:t._$litDirective$;return i?.constructor!==a&&(i?._$AO?.(!1),a===void 0?i=void 0:(i=new a(o),i._$AT(o,e,s)),s!==void 0?(e._$Co??=[])[s]=i:e._$Cl=i),i!==void 0&&(t=O(o,i._$AS(o,t.values),i,s)),t}var st=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,i=(t?.creationScope??E).importNode(e,!0);S.currentNode=i;let a=S.nextNode(),n=0,u=0,r=s[0];for(;r!==void 0;){if(n===r.index){let _;r.type===2?_=new F(a,a.nextSibling,this,t):r.type===1?_=new r.ctor(a,r.name,r.strings,this,t):r.type===6&&(_=new nt(a,this,t)),this._$AV.push(_),r=s[++u]}n!==r?.index&&(a=S.nextNode(),n++)}return S.currentNode=E,i}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},F=class o{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,i){this.type=2,this._$AH=f,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=O(this,t,e),D(t)?t===f||t==null||t===""?(this._$AH!==f&&this._$AR(),this._$AH=f):t!==this._$AH&&t!==C&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Jt(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==f&&D(this._$AH)?this._$AA.nextSibling.data=t:this.T(E.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,i=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=W.createElement(Pt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(e);else{let a=new st(i,this),n=a.u(this.options);a.p(e),this.T(n),this._$AH=a}}_$AC(t){let e=St.get(t.strings);return e===void 0&&St.set(t.strings,e=new W(t)),e}k(t){lt(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,i=0;for(let a of t)i===e.length?e.push(s=new o(this.O(z()),this.O(z()),this,this.options)):s=e[i],s._$AI(a),i++;i<e.length&&(this._$AR(s&&s._$AB.nextSibling,i),e.length=i)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=yt(t).nextSibling;yt(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},U=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,i,a){this.type=1,this._$AH=f,this._$AN=void 0,this.element=t,this.name=e,this._$AM=i,this.options=a,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=f}_$AI(t,e=this,s,i){let a=this.strings,n=!1;if(a===void 0)t=O(this,t,e,0),n=!D(t)||t!==this._$AH&&t!==C,n&&(this._$AH=t);else{let u=t,r,_;for(t=a[0],r=0;r<a.length-1;r++)_=O(this,u[s+r],e,r),_===C&&(_=this._$AH[r]),n||=!D(_)||_!==this._$AH[r],_===f?t=f:t!==f&&(t+=(_??"")+a[r+1]),this._$AH[r]=_}n&&!i&&this.j(t)}j(t){t===f?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},it=class extends U{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===f?void 0:t}},ot=class extends U{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==f)}},at=class extends U{constructor(t,e,s,i,a){super(t,e,s,i,a),this.type=5}_$AI(t,e=this){if((t=O(this,t,e,0)??f)===C)return;let s=this._$AH,i=t===f&&s!==f||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,a=t!==f&&(s===f||i);i&&this.element.removeEventListener(this.name,this,s),a&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},nt=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){O(this,t)}};var Gt=rt.litHtmlPolyfillSupport;Gt?.(W,F),(rt.litHtmlVersions??=[]).push("3.3.3");var Ot=(o,t,e)=>{let s=e?.renderBefore??t,i=s._$litPart$;if(i===void 0){let a=e?.renderBefore??null;s._$litPart$=i=new F(t.insertBefore(z(),a),a,void 0,e??{})}return i._$AI(o),i};var ht=globalThis,w=class extends b{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=Ot(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return C}};w._$litElement$=!0,w.finalized=!0,ht.litElementHydrateSupport?.({LitElement:w});var Xt=ht.litElementPolyfillSupport;Xt?.({LitElement:w});(ht.litElementVersions??=[]).push("4.2.2");function Ut(o,t){let e=new Map,s=new Map;for(let[d,h]of o.nodes)s.set(d,h),h!==null&&(e.has(h)||e.set(h,[]),e.get(h).push(d));let i=new Map;for(let d of o.inlets)i.has(d.node)||i.set(d.node,[]),i.get(d.node).push(d);let a=new Map,n=d=>{if(a.has(d))return a.get(d);a.set(d,!1);let h=i.has(d)||(e.get(d)||[]).some(g=>n(g));return a.set(d,h),h},u=o.substation.node,r=new Map,_=new Map,l=22/2,c=0,p=(d,h,g)=>{let v=(e.get(d)||[]).filter(n),V=i.get(d)||[];for(;d!==u&&v.length===1&&V.length===0&&!i.has(v[0])&&(e.get(v[0])||[]).filter(n).length>0;)r.set(d,{x:h*26,y:null,parent:g,folded:v[0]}),d=v[0],v=(e.get(d)||[]).filter(n);let M=[];for(let P of V){let Lt=(t.has(P.id)?Math.ceil(P.households.length/30):0)*11;_.set(P.id,{...P,x:(h+1)*26,y:l,parent:d}),c=Math.max(c,h+1),M.push(l),l+=22+Lt}for(let P of v)M.push(p(P,h+1,d));let ut=M.length?(M[0]+M[M.length-1])/2:l;return r.set(d,{x:h*26,y:ut,parent:g}),c=Math.max(c,h),ut};p(u,0,null);for(let[d,h]of r)if(h.y===null){let g=h.folded;for(;r.get(g)&&r.get(g).y===null;)g=r.get(g).folded;h.y=r.get(g)?r.get(g).y:0}return{nodes:r,inlets:_,width:(c+1)*26,height:l}}var J=320,A=120,$={left:34,right:8,top:8,bottom:18};function Nt(o){let t=o.filter(i=>i!=null&&Number.isFinite(i));if(!t.length)return null;let e=Math.min(...t),s=Math.max(...t);return s-e<1e-9&&(e-=1,s+=1),[e,s]}function Rt(o){let t=Math.abs(o);return t>=100?o.toFixed(0):t>=10?o.toFixed(1):o.toFixed(2)}function N({series:o,fixed:t=null,xLabel:e="",empty:s="",name:i=""}){let a=o.flatMap(p=>p.points.map(d=>d[0])),n=o.flatMap(p=>p.points.map(d=>d[1])),u=Nt(a),r=t||Nt(n);if(!u||!r)return m`<div class="chart-empty" data-chart=${i}>${s}</div>`;let _=p=>$.left+(p-u[0])/(u[1]-u[0]||1)*(J-$.left-$.right),l=p=>A-$.bottom-(p-r[0])/(r[1]-r[0])*(A-$.top-$.bottom),c=o.map(p=>{let d=p.points.filter(v=>v[1]!==null&&Number.isFinite(v[1])),h=d.map((v,V)=>`${V?"L":"M"}${_(v[0]).toFixed(1)},${l(v[1]).toFixed(1)}`).join(""),g=p.dots||d.length===1?d.map(v=>y`<circle cx=${_(v[0])} cy=${l(v[1])} r="2.5" fill=${p.color}></circle>`):[];return y`<path d=${h} fill="none" stroke=${p.color} stroke-width="1.6"></path>${g}`});return m`<figure class="chart" data-chart=${i} data-points=${n.length}>
    <svg viewBox="0 0 ${J} ${A}" role="img" preserveAspectRatio="none">
      <line x1=${$.left} y1=${A-$.bottom} x2=${J-$.right} y2=${A-$.bottom} class="axis"></line>
      <line x1=${$.left} y1=${$.top} x2=${$.left} y2=${A-$.bottom} class="axis"></line>
      <text x=${$.left-3} y=${$.top+8} class="tick" text-anchor="end">${Rt(r[1])}</text>
      <text x=${$.left-3} y=${A-$.bottom} class="tick" text-anchor="end">${Rt(r[0])}</text>
      <text x=${J-$.right} y=${A-4} class="tick" text-anchor="end">${e}</text>
      ${c}
    </svg>
    <figcaption>${o.map(p=>m`<span><i style="background:${p.color}"></i>${p.label}</span>`)}</figcaption>
  </figure>`}var Ht={en:{title:"Heat network",network:"Network",no_networks:"No heatbalance network is running.",loading:"Loading the network\u2026",balance_state:"Balance state",share_in_band:"In band",supply:"Supply",return:"Return",outdoor:"Outdoor",alarms:"Alarms",mode:"Mode",auto:"automatic",manual_mode:"manual",topology:"Topology",table:"Inlets",charts:"Over time",gradient:"Available \u0394P along the main",share_chart:"Share of inlets in band (%)",pump_chart:"Pump head (m) and power (kW)",forecast_chart:"Heat load: forecast and actual (kW)",head:"head",power:"power",forecast:"forecast",actual:"actual",distance:"distance from the substation (m)",name:"Inlet",state:"State",flow_dev:"Flow dev. (%)",return_c:"Return (\xB0C)",opening:"Valve (%)",dp:"\u0394P (kPa)",quality:"Data (%)",households:"households",expand:"show households",collapse:"hide households",substation:"Substation",cycle:"plant time",balancing:"balancing",balanced:"balanced",disturbed:"disturbed",not_balanced:"not balanced",in_band:"in band",short:"short",over:"over",no_data:"no data",fault:"fault",manual:"manual",loop:"loop",no_points:"Waiting for the first cycle\u2026",balance_now:"Balance now",acknowledge:"Acknowledge alarms",done:"Done.",archive:"Archive history",archive_inlet:"Inlet",archive_network:"Whole network",archive_signal:"Signal",archive_from:"From",archive_to:"To",archive_show:"Show",archive_empty:"No archived cycles in this range.",archive_rows:"cycles",archive_truncated:"cut at 50,000",archive_latest:"table: the latest",archive_time:"Time",archive_quality:"Quality",archive_hours:"hours since",flagged:"flagged",estimated:"estimated",signals:{supply_c:"Supply (\xB0C)",return_c:"Return (\xB0C)",flow_m3h:"Flow (m\xB3/h)",room_c:"Room (\xB0C)",opening:"Valve feedback (0\u20131)",dp_kpa:"Available \u0394P (kPa)",heat_kw:"Heat (kW)",setpoint:"Set value",actual:"Actual value",deviation:"Deviation",flow_deviation:"Flow deviation (%)",command:"Valve command (0\u20131)",in_band:"In band (1/0)",share_in_band:"Share in band (%)",spread:"Spread",outdoor_c:"Outdoor (\xB0C)",pump_flow_m3h:"Pump flow (m\xB3/h)",pump_power_w:"Pump power (W)",forecast_kw:"Forecast heat (kW)",balanced:"Balanced (1/0)"}},"zh-Hans":{title:"\u70ED\u7F51\u5E73\u8861",network:"\u7BA1\u7F51",no_networks:"\u6CA1\u6709\u6B63\u5728\u8FD0\u884C\u7684 heatbalance \u7BA1\u7F51\u3002",loading:"\u6B63\u5728\u52A0\u8F7D\u7BA1\u7F51\u2026",balance_state:"\u5E73\u8861\u72B6\u6001",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B",supply:"\u4F9B\u6C34",return:"\u56DE\u6C34",outdoor:"\u5BA4\u5916",alarms:"\u62A5\u8B66",mode:"\u6A21\u5F0F",auto:"\u81EA\u52A8",manual_mode:"\u624B\u52A8",topology:"\u7BA1\u7F51\u62D3\u6251",table:"\u70ED\u529B\u5165\u53E3",charts:"\u8D8B\u52BF",gradient:"\u6CBF\u4E3B\u5E72\u7EBF\u7684\u8D44\u7528\u538B\u5DEE",share_chart:"\u8FBE\u6807\u5165\u53E3\u6BD4\u4F8B\uFF08%\uFF09",pump_chart:"\u5FAA\u73AF\u6CF5\u626C\u7A0B\uFF08m\uFF09\u4E0E\u529F\u7387\uFF08kW\uFF09",forecast_chart:"\u70ED\u8D1F\u8377\uFF1A\u9884\u6D4B\u4E0E\u5B9E\u9645\uFF08kW\uFF09",head:"\u626C\u7A0B",power:"\u529F\u7387",forecast:"\u9884\u6D4B",actual:"\u5B9E\u9645",distance:"\u8DDD\u6362\u70ED\u7AD9\u8DDD\u79BB\uFF08m\uFF09",name:"\u5165\u53E3",state:"\u72B6\u6001",flow_dev:"\u6D41\u91CF\u504F\u5DEE\uFF08%\uFF09",return_c:"\u56DE\u6C34\uFF08\xB0C\uFF09",opening:"\u9600\u95E8\u5F00\u5EA6\uFF08%\uFF09",dp:"\u538B\u5DEE\uFF08kPa\uFF09",quality:"\u6570\u636E\uFF08%\uFF09",households:"\u6237",expand:"\u5C55\u5F00\u70ED\u7528\u6237",collapse:"\u6536\u8D77\u70ED\u7528\u6237",substation:"\u6362\u70ED\u7AD9",cycle:"\u8FD0\u884C\u65F6\u95F4",balancing:"\u8C03\u8282\u4E2D",balanced:"\u5DF2\u5E73\u8861",disturbed:"\u53D7\u6270\u52A8",not_balanced:"\u672A\u5E73\u8861",in_band:"\u8FBE\u6807",short:"\u6B20\u6D41",over:"\u8D85\u6D41",no_data:"\u65E0\u6570\u636E",fault:"\u6545\u969C",manual:"\u624B\u52A8",loop:"\u73AF\u8DEF",no_points:"\u7B49\u5F85\u7B2C\u4E00\u4E2A\u8C03\u8282\u5468\u671F\u2026",balance_now:"\u7ACB\u5373\u8C03\u8282",acknowledge:"\u786E\u8BA4\u62A5\u8B66",done:"\u5DF2\u5B8C\u6210\u3002",archive:"\u5386\u53F2\u6570\u636E\uFF08\u5F52\u6863\uFF09",archive_inlet:"\u70ED\u529B\u5165\u53E3",archive_network:"\u6574\u4E2A\u7BA1\u7F51",archive_signal:"\u53C2\u6570",archive_from:"\u4ECE",archive_to:"\u5230",archive_show:"\u67E5\u8BE2",archive_empty:"\u8BE5\u65F6\u6BB5\u6CA1\u6709\u5F52\u6863\u7684\u8C03\u8282\u5468\u671F\u3002",archive_rows:"\u4E2A\u5468\u671F",archive_truncated:"\u622A\u81F3 50,000",archive_latest:"\u8868\u683C\uFF1A\u6700\u8FD1",archive_time:"\u65F6\u95F4",archive_quality:"\u6570\u636E\u8D28\u91CF",archive_hours:"\u5C0F\u65F6\uFF0C\u8D77\u70B9",flagged:"\u5DF2\u6807\u8BB0",estimated:"\u4F30\u7B97",signals:{supply_c:"\u4F9B\u6C34\u6E29\u5EA6 (\xB0C)",return_c:"\u56DE\u6C34\u6E29\u5EA6 (\xB0C)",flow_m3h:"\u6D41\u91CF (m\xB3/h)",room_c:"\u5BA4\u6E29 (\xB0C)",opening:"\u9600\u95E8\u53CD\u9988 (0\u20131)",dp_kpa:"\u8D44\u7528\u538B\u5DEE (kPa)",heat_kw:"\u70ED\u91CF (kW)",setpoint:"\u8BBE\u5B9A\u503C",actual:"\u5B9E\u9645\u503C",deviation:"\u504F\u5DEE",flow_deviation:"\u6D41\u91CF\u504F\u5DEE (%)",command:"\u9600\u95E8\u6307\u4EE4 (0\u20131)",in_band:"\u8FBE\u6807 (1/0)",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B (%)",spread:"\u79BB\u6563\u5EA6",outdoor_c:"\u5BA4\u5916\u6E29\u5EA6 (\xB0C)",pump_flow_m3h:"\u6C34\u6CF5\u6D41\u91CF (m\xB3/h)",pump_power_w:"\u6C34\u6CF5\u529F\u7387 (W)",forecast_kw:"\u9884\u6D4B\u70ED\u8D1F\u8377 (kW)",balanced:"\u5DF2\u5E73\u8861 (1/0)"}}};function Tt(o){return o&&o.startsWith("zh")?Ht["zh-Hans"]:Ht.en}var R={in_band:"var(--success-color, #43a047)",short:"var(--info-color, #039be5)",over:"var(--error-color, #db4437)",no_data:"var(--disabled-color, #9e9e9e)",fault:"#8e24aa",manual:"var(--warning-color, #ffa600)"},pt=Object.keys(R),te=[["name","name"],["state","state"],["flow_dev","flow_dev"],["return_c","return_c"],["opening","opening"],["dp_kpa","dp"],["alarms","alarms"],["quality","quality"]],I=class extends w{constructor(){super(),this._networks=null,this._entry=null,this._view=null,this._expanded=new Set,this._sort=["state",1],this._message="",this._archive=null,this._unsub=null,this._opened=performance.now()}connectedCallback(){super.connectedCallback(),this._opened=performance.now(),this.hass&&this._networks===null&&this._loadNetworks()}disconnectedCallback(){super.disconnectedCallback(),this._unsubscribe()}updated(t){t.has("hass")&&this.hass&&this._networks===null&&this._loadNetworks(),this._view&&this._view.live&&!this.hasAttribute("data-rendered")&&this.setAttribute("data-rendered",(performance.now()-this._opened).toFixed(0)),t.has("_view")&&this._view&&this._view.live&&(this.setAttribute("data-time",this._view.live.time_s),this.setAttribute("data-updated",Date.now())),this.toggleAttribute("dark",!!(this.hass&&this.hass.themes&&this.hass.themes.darkMode))}get _t(){let t=this.hass;return Tt(t&&(t.locale&&t.locale.language||t.language)||"en")}async _loadNetworks(){this._networks=[],this._networks=await this.hass.callWS({type:"heatbalance/view/networks"});let t=new URLSearchParams(location.search).get("entry"),e=this._networks.find(s=>s.entry_id===t)||this._networks[0];e&&this._select(e.entry_id,!1)}async _select(t,e=!0){this._unsubscribe(),this._entry=t,this._view=null,this._expanded=new Set,this._archive=null,this.removeAttribute("data-rendered"),e&&(this._opened=performance.now());let s=await this.hass.connection.subscribeMessage(i=>this._onMessage(t,i),{type:"heatbalance/view/subscribe",entry_id:t});this._entry!==t?s():this._unsub=s}_unsubscribe(){this._unsub&&(this._unsub(),this._unsub=null)}_onMessage(t,e){if(t!==this._entry)return;if(e.topology){this._view={...e,history:e.history||[]};return}let s=this._view.history.slice(-719);e.point&&(!s.length||s[s.length-1].t!==e.point.t)&&s.push(e.point),this._view={...this._view,live:e.live,history:s}}render(){let t=this._t;return m`
      <div class="toolbar">
        ${this.narrow?m`<button class="menu" aria-label="menu" @click=${this._toggleMenu}>
              <svg viewBox="0 0 24 24"><path d="M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z"></path></svg>
            </button>`:f}
        <div class="title">${t.title}</div>
        ${this._networks&&this._networks.length>1?m`<select class="networks" @change=${e=>this._select(e.target.value)}>
              ${this._networks.map(e=>m`<option value=${e.entry_id} ?selected=${e.entry_id===this._entry}>${e.title}</option>`)}
            </select>`:f}
      </div>
      <div class="content">${this._content(t)}</div>
    `}_content(t){return this._networks&&this._networks.length===0?m`<ha-card class="pad">${t.no_networks}</ha-card>`:!this._view||!this._view.live?m`<ha-card class="pad">${t.loading}</ha-card>`:m`
      ${this._summary(t)}
      <div class="columns">
        <ha-card class="topology">
          <h2>${t.topology}</h2>
          ${this._legend(t)}
          <div class="scroll">${this._graph(t)}</div>
        </ha-card>
        <div class="side">
          <ha-card>
            <h2>${t.gradient}</h2>
            ${this._gradient(t)}
          </ha-card>
          <ha-card class="charts">
            <h2>${t.charts}</h2>
            ${this._charts(t)}
          </ha-card>
        </div>
      </div>
      <ha-card class="table">
        <h2>${t.table}</h2>
        ${this._table(t)}
      </ha-card>
      <ha-card class="archive">
        <h2>${t.archive}</h2>
        ${this._archiveForm(t)}
        ${this._archiveResult(t)}
      </ha-card>
    `}_archiveChoice(){if(!this._archive){let e=i=>new Date(i-new Date(i).getTimezoneOffset()*6e4).toISOString().slice(0,16),s=Date.now();this._archive={inlet:"network",signal:"share_in_band",start:e(s-24*36e5),end:e(s+6e4),result:null,busy:!1,error:""}}return this._archive}_archiveForm(t){let e=this._archiveChoice(),s=this._signalsFor(e.inlet),i=n=>u=>{let r={...this._archive,[n]:u.target.value};n==="inlet"&&!this._signalsFor(r.inlet).includes(r.signal)&&(r.signal=this._signalsFor(r.inlet)[0]),this._archive=r},a=n=>t.signals&&t.signals[n]||n;return m`<div class="archive-form">
      <label>${t.archive_inlet}
        <select name="inlet" @change=${i("inlet")}>
          <option value="network" ?selected=${e.inlet==="network"}>${t.archive_network}</option>
          ${this._view.topology.inlets.map(n=>m`<option value=${n.id} ?selected=${e.inlet===n.id}>${n.name}</option>`)}
        </select></label>
      <label>${t.archive_signal}
        <select name="signal" @change=${i("signal")}>
          ${s.map(n=>m`<option value=${n} ?selected=${e.signal===n}>${a(n)}</option>`)}
        </select></label>
      <label>${t.archive_from}<input name="start" type="datetime-local" .value=${e.start} @change=${i("start")} /></label>
      <label>${t.archive_to}<input name="end" type="datetime-local" .value=${e.end} @change=${i("end")} /></label>
      <button data-action="archive" ?disabled=${e.busy} @click=${()=>this._queryArchive()}>${t.archive_show}</button>
      ${e.error?m`<span class="message">${e.error}</span>`:f}
    </div>`}_signalsFor(t){return(this._view.archive||{inlet:[],network:[]})[t==="network"?"network":"inlet"]}async _queryArchive(){let t={...this._archiveChoice(),busy:!0,error:""};this._archive=t;try{let e=await this.hass.callWS({type:"call_service",domain:"heatbalance",service:"history",service_data:{config_entry_id:this._entry,inlet:t.inlet,signals:[t.signal],start:new Date(t.start).toISOString(),end:new Date(t.end).toISOString()},return_response:!0});this._archive={...this._archive,busy:!1,result:{...e.response,signal:t.signal}}}catch(e){this._archive={...this._archive,busy:!1,result:null,error:e&&e.message||String(e)}}}_archiveResult(t){let e=this._archive&&this._archive.result;if(!e)return f;let s=e.rows,i=e.signal;if(!s.length)return m`<div class="chart-empty" data-archive-rows="0">${t.archive_empty}</div>`;let a=h=>{let g=h[i];return typeof g=="boolean"?g?1:0:g},n=s.map(h=>Date.parse(h.time)),u=n[0],r=Math.max(1,Math.ceil(s.length/600)),_=[];for(let h=0;h<s.length;h+=r)_.push([(n[h]-u)/36e5,a(s[h])]);let l=s.slice(-200).reverse(),c=h=>(h.flagged||[]).includes(i)?t.flagged:(h.estimated||[]).includes(i)?t.estimated:"",p=h=>h==null?"\u2013":String(typeof h=="number"?Math.round(h*1e3)/1e3:h),d=t.signals&&t.signals[i]||i;return m`<div class="archive-result" data-archive-rows=${s.length} data-archive-signal=${i} data-archive-inlet=${e.inlet}>
      ${N({name:"archive",series:[{label:d,color:"var(--primary-color)",points:_}],xLabel:`${t.archive_hours} ${new Date(u).toLocaleString()}`,empty:t.archive_empty})}
      <div class="counts">${s.length} ${t.archive_rows}${e.truncated?` (${t.archive_truncated})`:""}${s.length>l.length?` \u2014 ${t.archive_latest} ${l.length}`:""}</div>
      <div class="scroll-x archive-table"><table>
        <thead><tr><th>${t.archive_time}</th><th>${d}</th><th>${t.archive_quality}</th></tr></thead>
        <tbody>
          ${l.map(h=>m`<tr data-archive-time=${h.time}>
            <td>${new Date(h.time).toLocaleString()}</td><td data-value=${String(h[i])}>${p(h[i])}</td><td>${c(h)}</td>
          </tr>`)}
        </tbody>
      </table></div>
    </div>`}_summary(t){let e=this._view.live,s=this._view.history[this._view.history.length-1],i=s?s.state:e.balanced?"balanced":"balancing",a={};for(let r of Object.values(e.inlets))a[r.state]=(a[r.state]||0)+1;let n=(r,_,l="")=>m`<div class="tile ${l}"><span>${r}</span><b>${_}</b></div>`,u=(r,_)=>r==null?"\u2013":`${r} ${_}`;return m`<ha-card class="summary">
      ${n(t.balance_state,t[i]||i,`state-${i}`)}
      ${n(t.share_in_band,u(e.share_in_band,"%"))}
      ${n(t.supply,u(e.supply_c,"\xB0C"))}
      ${n(t.return,u(e.return_c,"\xB0C"))}
      ${n(t.outdoor,u(e.outdoor_c,"\xB0C"))}
      ${n(t.alarms,e.alarms)}
      ${n(t.mode,e.auto?t.auto:t.manual_mode)}
      <div class="actions">
        <button data-action="balance_now" @click=${()=>this._call("balance_now")}>${t.balance_now}</button>
        <button data-action="acknowledge_alarm" ?disabled=${!e.alarms}
          @click=${()=>this._call("acknowledge_alarm")}>${t.acknowledge}</button>
        ${this._message?m`<span class="message">${this._message}</span>`:f}
      </div>
      <div class="counts">
        ${pt.filter(r=>a[r]).map(r=>m`<span class="count"><i style="background:${R[r]}"></i>${a[r]} ${t[r]}</span>`)}
      </div>
    </ha-card>`}async _call(t){this._message="";try{await this.hass.callService("heatbalance",t,{config_entry_id:this._entry}),this._message=this._t.done}catch(e){this._message=e&&e.message||String(e)}}_legend(t){return m`<div class="legend">
      ${pt.map(e=>m`<span><i style="background:${R[e]}"></i>${t[e]}</span>`)}
    </div>`}_graph(t){let{topology:e,live:s}=this._view,i=Ut(e,this._expanded),n=i.width+250+330,u=[];for(let[,c]of i.nodes){if(c.folded||c.parent===null)continue;let p=i.nodes.get(c.parent);p&&u.push(y`<path class="pipe" d="M${p.x},${p.y}V${c.y}H${c.x}"></path>`)}for(let[,c]of i.inlets){let p=i.nodes.get(c.parent);p&&u.push(y`<path class="pipe" d="M${p.x},${p.y}V${c.y}H${c.x}"></path>`)}let r=e.loops.map(([c,p])=>{let d=i.nodes.get(c),h=i.nodes.get(p);if(!d||!h)return f;let g=Math.max(d.x,h.x)+10;return y`<path class="loop" d="M${d.x},${d.y}H${g}V${h.y}H${h.x}"><title>${t.loop} ${c}–${p}</title></path>`}),_=i.nodes.get(e.substation.node),l=[...i.inlets.values()].map(c=>this._inlet(t,c,s));return m`<svg class="graph" width=${n} height=${i.height+4} viewBox="-14 -2 ${n+14} ${i.height+4}">
      ${u}${r}
      ${_?y`<g class="substation"><rect x="-12" y=${_.y-8} width="16" height="16" rx="3"></rect>
            <title>${e.substation.name||t.substation}</title></g>`:f}
      ${l}
    </svg>`}_inlet(t,e,s){let i=s.inlets[e.id],a=i?i.state:"no_data",n=(p,d,h=0)=>p==null?"\u2013":`${p.toFixed(h)}${d}`,u=i?`${n(i.flow_dev,"%")}  ${n(i.return_c,"\xB0C",1)}  ${n(i.opening,"%")}`:"",r=e.households,_=this._expanded.has(e.id),l=_?r.map((p,d)=>{let h=s.households[p]||(s.inlets[p]?s.inlets[p].state:"no_data"),g=e.x+12+d%30*11,v=e.y+22/2+Math.floor(d/30)*11;return y`<rect class="household" data-household=${p} data-state=${h} x=${g} y=${v}
            width=${9} height=${9} fill=${R[h]}><title>${p}: ${t[h]}</title></rect>`}):f,c=r.length?y`<g class="toggle" data-toggle=${e.id} @click=${()=>this._toggle(e.id)}>
          <rect x=${e.x+200} y=${e.y-8} width="40" height="16" rx="8"></rect>
          <text x=${e.x+220} y=${e.y+4} text-anchor="middle">${_?"\u2212":"+"}${r.length}</text>
          <title>${_?t.collapse:t.expand} (${r.length} ${t.households})</title></g>`:f;return y`<g class="inlet" data-inlet=${e.id} data-state=${a} @click=${()=>this._open(e.id)}>
        <circle cx=${e.x} cy=${e.y} r="7" fill=${R[a]}></circle>
        <text x=${e.x+12} y=${e.y+4} class="name">${e.name}</text>
        <text x=${e.x+86} y=${e.y+4} class="values">${u}</text>
        <title>${e.name}: ${t[a]}</title>
      </g>${c}${l}`}_toggle(t){let e=new Set(this._expanded);e.has(t)?e.delete(t):e.add(t),this._expanded=e}_gradient(t){let{topology:e,live:s}=this._view,i=e.inlets.filter(a=>s.inlets[a.id]&&s.inlets[a.id].dp_kpa!==null&&Number.isFinite(a.dist_m)).map(a=>[a.dist_m,s.inlets[a.id].dp_kpa]).sort((a,n)=>a[0]-n[0]);return N({name:"gradient",series:[{label:"\u0394P (kPa)",color:"var(--primary-color)",points:i,dots:!0}],xLabel:t.distance,empty:t.no_points})}_charts(t){let e=this._view.history,s=e.length?e[0].t:0,i=u=>(u.t-s)/3600,a=(u,r,_,l=1)=>({label:r,color:_,points:e.map(c=>[i(c),c[u]===null?null:c[u]*l])}),n=`${t.cycle} (h)`;return m`
      <h3>${t.share_chart}</h3>
      ${N({name:"share",series:[a("share",t.share_in_band,"var(--success-color, #43a047)")],fixed:[0,100],xLabel:n,empty:t.no_points})}
      <h3>${t.pump_chart}</h3>
      ${N({name:"pump",series:[a("head_m",t.head,"var(--primary-color)"),a("power_w",t.power,"var(--accent-color, #ff9800)",.001)],xLabel:n,empty:t.no_points})}
      <h3>${t.forecast_chart}</h3>
      ${N({name:"forecast",series:[a("forecast_kw",t.forecast,"var(--accent-color, #ff9800)"),a("heat_kw",t.actual,"var(--primary-color)")],xLabel:n,empty:t.no_points})}
    `}_table(t){let{topology:e,live:s}=this._view,[i,a]=this._sort,n=new Map(e.inlets.map(l=>[l.id,l.name])),u=Object.entries(s.inlets).map(([l,c])=>({id:l,name:n.get(l)||l,...c})),r=l=>i==="state"?pt.indexOf(l.state):l[i];u.sort((l,c)=>{let p=r(l),d=r(c);return p===d?l.name.localeCompare(c.name):p==null?1:d==null?-1:(p<d?-1:1)*a});let _=l=>l??"\u2013";return m`<div class="scroll-x"><table>
      <thead><tr>
        ${te.map(([l,c])=>m`<th data-sort=${l} class=${l===i?a>0?"asc":"desc":""}
            @click=${()=>this._sort=[l,l===i?-a:1]}>${t[c]}</th>`)}
      </tr></thead>
      <tbody>
        ${u.map(l=>m`<tr data-row=${l.id}>
            <td><a href=${this._deviceUrl(l.id)} @click=${c=>this._open(l.id,c)}>${l.name}</a></td>
            <td><i class="dot" style="background:${R[l.state]}"></i>${t[l.state]}</td>
            <td>${_(l.flow_dev)}</td>
            <td>${_(l.return_c)}</td>
            <td>${_(l.opening)}</td>
            <td>${_(l.dp_kpa)}</td>
            <td>${l.alarms}</td>
            <td>${_(l.quality)}</td>
          </tr>`)}
      </tbody>
    </table></div>`}_deviceUrl(t){let e=this._view.devices[t];return e&&this._view.admin?`/config/devices/device/${e.device_id}`:"#"}_open(t,e){e&&e.preventDefault();let s=this._view.devices[t];s&&(this._view.admin?(history.pushState(null,"",`/config/devices/device/${s.device_id}`),this.dispatchEvent(new CustomEvent("location-changed",{bubbles:!0,composed:!0}))):s.entity_id&&this.dispatchEvent(new CustomEvent("hass-more-info",{bubbles:!0,composed:!0,detail:{entityId:s.entity_id}})))}_toggleMenu(){this.dispatchEvent(new CustomEvent("hass-toggle-menu",{bubbles:!0,composed:!0}))}};Z(I,"properties",{hass:{attribute:!1},narrow:{type:Boolean},panel:{attribute:!1},_networks:{state:!0},_entry:{state:!0},_view:{state:!0},_expanded:{state:!0},_sort:{state:!0},_message:{state:!0},_archive:{state:!0}}),Z(I,"styles",X`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 12px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, var(--text-primary-color, #fff));
      position: sticky;
      top: 0;
      z-index: 2;
    }
    .title { font-size: 20px; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .menu { background: none; border: 0; padding: 8px; margin-left: -8px; color: inherit; cursor: pointer; }
    .menu svg { width: 24px; height: 24px; fill: currentColor; display: block; }
    .networks { font: inherit; padding: 4px; border-radius: 4px; max-width: 50vw; }
    .content { padding: 8px; display: flex; flex-direction: column; gap: 8px; }
    ha-card {
      display: block;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      border-radius: var(--ha-card-border-radius, 12px);
      border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
      padding: 8px 12px;
      box-sizing: border-box;
      min-width: 0;
    }
    .pad { padding: 16px; }
    h2 { font-size: 16px; font-weight: 500; margin: 4px 0 8px; }
    h3 { font-size: 13px; font-weight: 400; margin: 8px 0 2px; color: var(--secondary-text-color); }
    .summary { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; }
    .tile { display: flex; flex-direction: column; }
    .tile span { font-size: 12px; color: var(--secondary-text-color); }
    .tile b { font-size: 18px; font-weight: 500; }
    .state-balanced b { color: var(--success-color, #43a047); }
    .state-not_balanced b, .state-disturbed b { color: var(--error-color, #db4437); }
    .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
    .actions button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .actions button[disabled] { opacity: 0.4; cursor: default; }
    .message { font-size: 12px; color: var(--secondary-text-color); }
    .counts, .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }
    .counts i, .legend i, figcaption i, .dot {
      display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px;
    }
    .columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 8px; align-items: start; }
    :host([narrow]) .columns { grid-template-columns: minmax(0, 1fr); }
    @media (max-width: 900px) { .columns { grid-template-columns: minmax(0, 1fr); } }
    .side { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
    .scroll { overflow: auto; max-height: 70vh; }
    .scroll-x { overflow: auto; max-height: 60vh; }
    thead th { position: sticky; top: 0; background: var(--ha-card-background, var(--card-background-color, #fff)); }
    svg.graph { display: block; font-size: 11px; }
    .pipe { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.4; opacity: 0.7; }
    .loop { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.2; stroke-dasharray: 4 3; }
    .substation rect { fill: var(--primary-color); }
    .inlet { cursor: pointer; }
    .inlet text { fill: var(--primary-text-color); }
    .inlet .values { fill: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
    .inlet:hover circle { stroke: var(--primary-text-color); stroke-width: 2; }
    .toggle { cursor: pointer; }
    .toggle rect { fill: var(--secondary-background-color, #eee); stroke: var(--divider-color); }
    .toggle text { fill: var(--primary-text-color); font-size: 11px; }
    .chart { margin: 0; }
    .chart svg { width: 100%; height: 120px; display: block; }
    .chart .axis { stroke: var(--divider-color, #ccc); }
    .chart .tick { fill: var(--secondary-text-color); font-size: 9px; }
    figcaption { display: flex; gap: 12px; font-size: 12px; color: var(--secondary-text-color); }
    .chart-empty { font-size: 12px; color: var(--secondary-text-color); padding: 8px 0; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
    th, td { padding: 4px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    th { cursor: pointer; user-select: none; font-weight: 500; color: var(--secondary-text-color); }
    th.asc::after { content: " ▲"; }
    th.desc::after { content: " ▼"; }
    a { color: var(--primary-color); text-decoration: none; }
    .archive-form { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; margin-bottom: 8px; }
    .archive-form label { display: flex; flex-direction: column; font-size: 12px; color: var(--secondary-text-color); gap: 2px; }
    .archive-form select, .archive-form input { font: inherit; font-size: 13px; padding: 4px; border-radius: 4px; }
    .archive-form button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .archive .chart { max-width: 760px; }
    .archive .chart svg { height: 160px; }
    .archive-table { max-height: 40vh; }
    .archive-table th:nth-child(2), .archive-table td:nth-child(2) { text-align: right; }
  `);customElements.get("heatbalance-panel")||customElements.define("heatbalance-panel",I);
